//! The GUM framework (JCGM 100 §5; JJF 1059.1): sensitivity coefficients, combined
//! standard uncertainty with correlations, Welch–Satterthwaite, coverage factor,
//! expanded uncertainty; and the coverage-factor and rounding rules of the report.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The coverage factor for probability p with ν effective degrees of freedom
/// (None = infinite): the (1 + p)/2 quantile of Student's t, or of the normal
/// distribution (JCGM 100 §G.3, §G.4).
///
/// From ν = 1000 on, the quantile is the Cornish–Fisher expansion about the normal
/// quantile (Abramowitz & Stegun 26.7.5, four terms), whose first omitted term is below
/// 10⁻¹³ there; statrs' iterative inverse does not converge for large ν (it answered
/// 1.006 at ν = 10⁷ and never returned from ν ≈ 2.3·10⁷). ν must be positive.
pub fn coverage_factor(p: f64, dof: Option<f64>) -> f64 {
    let q = (1.0 + p) / 2.0;
    match dof {
        Some(nu) if nu.is_finite() && nu < 1000.0 => StudentsT::new(0.0, 1.0, nu).expect("ν > 0").inverse_cdf(q),
        Some(nu) if nu.is_finite() => {
            let z = Normal::standard().inverse_cdf(q);
            let z2 = z * z;
            let g1 = (z2 + 1.0) * z / 4.0;
            let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
            let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
            let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
            z + g1 / nu + g2 / (nu * nu) + g3 / nu.powi(3) + g4 / nu.powi(4)
        }
        _ => Normal::standard().inverse_cdf(q),
    }
}

/// The terms of Welch–Satterthwaite when some inputs are correlated: each group of inputs
/// joined by a correlation (`pairs`: i, j, r_ij, among those reaching the measurand) is
/// one term, u_g = √(Σ_i Σ_j c_i u_i c_j u_j r_ij) over its members, with the smallest ν
/// of its members (None when all are infinite); every other input is its own term.
/// `signed` holds c_i u(x_i).
///
/// The rule is conservative: a group's covariances come from the same data (GUM H.2:
/// simultaneous observations of V, I and φ), so the group has no more degrees of freedom
/// than its poorest member. On GUM H.2 it gives ν = 4, as the GUM's own H.2.4 evaluation
/// from the five simultaneous sets does.
pub fn correlated_terms(
    signed: &[f64],
    dofs: &[Option<f64>],
    pairs: &[(usize, usize, f64)],
) -> Vec<(f64, Option<f64>)> {
    let n = signed.len();
    // Union-find of the correlated inputs.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b, _) in pairs {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut variance = vec![0.0; n];
    let mut dof: Vec<Option<f64>> = vec![None; n];
    let mut members = vec![0usize; n];
    for i in 0..n {
        let r = root(&mut parent, i);
        variance[r] += signed[i] * signed[i];
        members[r] += 1;
        dof[r] = match (dof[r], dofs[i]) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    for &(a, b, r) in pairs {
        variance[root(&mut parent, a)] += 2.0 * signed[a] * signed[b] * r;
    }
    (0..n)
        .filter(|&i| members[i] > 0)
        .map(|i| (variance[i].max(0.0).sqrt(), dof[i]))
        .collect()
}

/// The coverage probability of ±k for a normal distribution: 2Φ(k) − 1.
pub fn normal_probability(k: f64) -> f64 {
    2.0 * Normal::standard().cdf(k) - 1.0
}

/// Welch–Satterthwaite (JCGM 100 eq. G.2b): u_c⁴ / Σ u_i(y)⁴/ν_i, with the
/// contributions u_i(y) = |c_i| u(x_i). None when infinite.
pub fn welch_satterthwaite(uc: f64, terms: &[(f64, Option<f64>)]) -> Option<f64> {
    let denom: f64 = terms.iter().filter_map(|(ui, nu)| nu.map(|nu| ui.powi(4) / nu)).sum();
    if denom > 0.0 && uc > 0.0 {
        Some(uc.powi(4) / denom)
    } else {
        None
    }
}

/// How the report rounds the expanded uncertainty to two significant digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Nearest,
    /// Never understate: round up (ILAC-P14 allows either; some labs require this).
    Up,
}

/// U to at most two significant digits and y to the same decimal place, as text
/// (JJF 1059.1 §7.3; ILAC-P14 §5.3; GUM §7.2.6). Returns (y, U).
pub fn round_result(y: f64, big_u: f64, rounding: Rounding) -> (String, String) {
    if !(big_u.is_finite() && big_u > 0.0) {
        return (format!("{y}"), "0".into());
    }
    // Ordinary sizes go through the one formatter the records and certificates use
    // (domain::numbers: decimal digits, GB/T 8170 half to even); very large or small
    // ones keep e-notation.
    let mode = match rounding {
        Rounding::Nearest => crate::domain::numbers::Rounding::HalfEven,
        Rounding::Up => crate::domain::numbers::Rounding::Up,
    };
    if (-12..=6).contains(&crate::domain::numbers::u_place(big_u, mode)) {
        return crate::domain::numbers::state(y, big_u, mode);
    }
    let mut exp = big_u.log10().floor() as i32 - 1; // the place of the 2nd significant digit
    let mut digits = round_at(big_u, exp, rounding);
    if digits >= 100.0 {
        // 9.96 → 10: one digit fewer after the point.
        exp += 1;
        digits = round_at(big_u, exp, rounding);
    }
    let u_text = format_scaled(digits, exp);
    let y_digits = (y / 10f64.powi(exp)).round();
    (format_scaled(y_digits, exp), u_text)
}

/// `value` in units of 10^exp, rounded to a whole number.
fn round_at(value: f64, exp: i32, rounding: Rounding) -> f64 {
    let scaled = value / 10f64.powi(exp);
    match rounding {
        Rounding::Nearest => scaled.round(),
        // A tolerance keeps 6.8 (stored as 6.8000000000000007) from becoming 6.9.
        Rounding::Up => (scaled - 1e-9 * scaled.abs().max(1.0)).ceil(),
    }
}

/// `digits` × 10^exp as a plain decimal, or in e-notation when very large or small.
fn format_scaled(digits: f64, exp: i32) -> String {
    let digits = if digits == 0.0 { 0.0 } else { digits }; // no "-0"
    if (-12..=6).contains(&exp) {
        if exp >= 0 {
            format!("{:.0}", digits * 10f64.powi(exp))
        } else {
            let decimals = (-exp) as usize;
            let text = format!("{:.*}", decimals, digits / 10f64.powi(-exp));
            if text.starts_with('-') && text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
                text[1..].to_owned()
            } else {
                text
            }
        }
    } else {
        let mantissa_digits = if digits == 0.0 {
            1
        } else {
            (digits.abs().log10().floor() as i32) + 1
        };
        let e = exp + mantissa_digits - 1;
        let mantissa = digits / 10f64.powi(mantissa_digits - 1);
        format!("{:.*}e{}", (mantissa_digits - 1).max(0) as usize, mantissa, e)
    }
}

/// k as reported: at most two decimals (2, 2.16), as records and certificates state it
/// (`domain::numbers::k`).
pub fn format_k(k: f64) -> String {
    crate::domain::numbers::k(k)
}

/// p as reported, in percent: 95.45 %, 99 % (`domain::numbers::percent`).
pub fn format_percent(p: f64) -> String {
    crate::domain::numbers::percent(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_factors_from_students_t() {
        // JCGM 100 Table G.2: t_95.45(ν): ν=1 → 13.97, ν=10 → 2.28, ν=16 → 2.17, ∞ → 2.000.
        let k = |nu| coverage_factor(0.9545, nu);
        assert_eq!(format!("{:.2}", k(Some(1.0))), "13.97");
        assert_eq!(format!("{:.2}", k(Some(10.0))), "2.28");
        assert_eq!(format!("{:.2}", k(Some(16.0))), "2.17");
        assert_eq!(format!("{:.3}", k(None)), "2.000");
        // t_95(ν): ν=8 → 2.31, ∞ → 1.960.
        assert_eq!(format!("{:.2}", coverage_factor(0.95, Some(8.0))), "2.31");
        assert_eq!(format!("{:.3}", coverage_factor(0.95, None)), "1.960");
        assert_eq!(format!("{:.4}", normal_probability(2.0)), "0.9545");
        assert_eq!(format!("{:.4}", normal_probability(3.0)), "0.9973");
    }

    #[test]
    fn coverage_factor_for_large_dof_returns_and_tends_to_the_normal() {
        // t_0.975(ν) for ν = 1000: 1.962339 (R: qt(0.975, 1000) = 1.962339); the expansion
        // meets statrs' iteration there. ν = 10⁷ and 10⁹ give the normal 1.959964 to 6
        // decimals; before, ν ≥ 2.3·10⁷ never returned and 10⁷ gave 1.006 (p = 0.9545).
        assert_eq!(format!("{:.6}", coverage_factor(0.95, Some(1000.0))), "1.962339");
        let below = StudentsT::new(0.0, 1.0, 999.999).unwrap().inverse_cdf(0.975);
        assert!((below - coverage_factor(0.95, Some(1000.0))).abs() < 1e-6);
        assert_eq!(format!("{:.6}", coverage_factor(0.95, Some(1e7))), "1.959964");
        assert_eq!(format!("{:.6}", coverage_factor(0.95, Some(1e9))), "1.959964");
        // k − z ≈ (z³ + z)/(4ν), the first term of the expansion (A&S 26.7.5).
        let z = coverage_factor(0.9545, None);
        let g1 = (z.powi(3) + z) / 4.0;
        for nu in [1e5, 1e7, 2.3e7, 1e9] {
            let k = coverage_factor(0.9545, Some(nu));
            assert!(((k - z) * nu - g1).abs() < 0.01 * g1, "ν = {nu}: k = {k}");
        }
        assert!((coverage_factor(0.9545, Some(1e15)) - z).abs() < 1e-14);
    }

    #[test]
    fn coverage_factors_against_reference_quantiles() {
        // Issue 21, defect 1: the (1 + p)/2 quantile of Student's t at each ν and p, and
        // of the normal for ν = ∞. Reference values from SciPy 1.16 `stats.t.ppf` and
        // `stats.norm.ppf` (Boost's inverse incomplete beta and inverse erfc), to 10
        // decimals; ν = 1 also from the closed form tan(π(q − ½)).
        let ps = [0.6827, 0.95, 0.9545, 0.99, 0.9973];
        let table: [(Option<f64>, [f64; 5]); 9] = [
            (
                Some(1.0),
                [
                    1.8374094295,
                    12.7062047362,
                    13.9678114875,
                    63.6567411629,
                    235.7836871585,
                ],
            ),
            (
                Some(2.0),
                [1.3213154624, 4.3026527297, 4.5265507601, 9.9248432009, 19.2060158878],
            ),
            (
                Some(10.0),
                [1.0525864806, 2.2281388520, 2.2836816133, 3.1692726726, 3.9568899895],
            ),
            (
                Some(100.0),
                [1.0050469946, 1.9839715185, 2.0253116528, 2.6258905214, 3.0767308989],
            ),
            (
                Some(1e3),
                [1.0005219851, 1.9623390808, 2.0025055172, 2.5807546981, 3.0074941113],
            ),
            (
                Some(1e5),
                [1.0000267136, 1.9599877075, 2.0000274443, 2.5758784699, 3.0000519928],
            ),
            (
                Some(1e7),
                [1.0000217633, 1.9599642218, 2.0000026939, 2.5758297952, 2.9999777427],
            ),
            (
                Some(1e9),
                [1.0000217138, 1.9599639869, 2.0000024464, 2.5758293085, 2.9999770002],
            ),
            (
                None,
                [1.0000217133, 1.9599639845, 2.0000024439, 2.5758293035, 2.9999769927],
            ),
        ];
        for (nu, ks) in table {
            for (p, want) in ps.iter().zip(ks) {
                let k = coverage_factor(*p, nu);
                assert!(
                    (k - want).abs() <= 2e-9 * want,
                    "ν = {nu:?}, p = {p}: {k} against {want}"
                );
            }
        }
        let q: f64 = (1.0 + 0.9973) / 2.0;
        assert!(((std::f64::consts::PI * (q - 0.5)).tan() - 235.7836871585).abs() < 1e-8);
    }

    #[test]
    fn correlated_groups_are_one_term_each() {
        // Three inputs, the first two correlated (r = 0.5): their group's variance is
        // 1² + 2² + 2·1·2·0.5 = 7 with ν = min(4, 9) = 4; the third stands alone.
        let t = correlated_terms(&[1.0, 2.0, 3.0], &[Some(4.0), Some(9.0), None], &[(0, 1, 0.5)]);
        assert_eq!(t.len(), 2);
        assert!((t[0].0 - 7f64.sqrt()).abs() < 1e-12 && t[0].1 == Some(4.0));
        assert_eq!(t[1], (3.0, None));
        // No correlation: every input is its own term, as plain Welch–Satterthwaite.
        let t = correlated_terms(&[1.0, 2.0], &[Some(4.0), Some(9.0)], &[]);
        assert_eq!(t, vec![(1.0, Some(4.0)), (2.0, Some(9.0))]);
    }

    #[test]
    fn welch_satterthwaite_algebra() {
        // Two equal contributions with ν = 4 each: ν_eff = (2u²)² / (2u⁴/4) = 8.
        let nu = welch_satterthwaite(2f64.sqrt(), &[(1.0, Some(4.0)), (1.0, Some(4.0))]).unwrap();
        assert!((nu - 8.0).abs() < 1e-12);
        assert_eq!(welch_satterthwaite(1.0, &[(1.0, None)]), None);
        assert_eq!(welch_satterthwaite(0.0, &[(0.0, Some(3.0))]), None);
    }

    #[test]
    fn reports_round_u_to_two_significant_digits() {
        // ILAC-P14 §5.3 / JJF 1059.1: U to two significant digits, y to the same place.
        assert_eq!(
            round_result(50.000838, 0.0000684, Rounding::Nearest),
            ("50.000838".into(), "0.000068".into())
        );
        assert_eq!(
            round_result(50.000838, 0.0000684, Rounding::Up),
            ("50.000838".into(), "0.000069".into())
        );
        assert_eq!(
            round_result(10.0249, 0.0586, Rounding::Nearest),
            ("10.025".into(), "0.059".into())
        );
        // Exactly two significant digits already: "up" does not add one.
        assert_eq!(round_result(1.0, 0.068, Rounding::Up).1, "0.068");
        // 9.96 rounds to 10 with one digit fewer after the point.
        assert_eq!(
            round_result(123.456, 0.996, Rounding::Nearest),
            ("123.5".into(), "1.0".into())
        );
        assert_eq!(
            round_result(123456.0, 1234.0, Rounding::Nearest),
            ("123500".into(), "1200".into())
        );
        assert_eq!(
            round_result(1.23456e-9, 2.345e-12, Rounding::Nearest),
            ("1.2346e-9".into(), "2.3e-12".into())
        );
        assert_eq!(
            round_result(-0.0004, 0.012, Rounding::Nearest),
            ("0.000".into(), "0.012".into())
        );
        assert_eq!(round_result(5.0, 0.0, Rounding::Nearest).1, "0");
    }

    #[test]
    fn k_and_p_as_reported() {
        assert_eq!(format_k(2.1557), "2.16");
        assert_eq!(format_percent(0.9545), "95.45 %");
        assert_eq!(format_percent(0.99), "99 %");
        assert_eq!(format_percent(0.95), "95 %");
    }
}
