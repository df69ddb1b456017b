//! Property tests: relations the GUM and Monte Carlo results must satisfy for any
//! inputs, not only for the published examples.
//!
//! Sources: JCGM 100:2008 (GUM) eq. (10) and §5.1.6 for the combined uncertainty of
//! sums and products; JCGM 101:2008 §5.7 for Monte Carlo agreeing with the GUM
//! framework on linear models with normal inputs; JJF 1059.1-2012 §7.3 for rounding.

use super::form::BudgetForm;
use super::gum::{round_result, Rounding};
use super::problem::{CoverageSpec, InputSpec, MeasurandSpec, MonteCarloSpec, Problem, UncertaintySpec};
use super::{evaluate, evaluate_with};
use proptest::prelude::*;

fn normal(name: &str, value: f64, unit: &str, u: f64) -> InputSpec {
    InputSpec {
        name: name.into(),
        value: Some(value),
        unit: unit.into(),
        uncertainty: UncertaintySpec {
            kind: "normal".into(),
            u: Some(u),
            ..Default::default()
        },
    }
}

fn problem(model: String, unit: &str, inputs: Vec<InputSpec>) -> Problem {
    Problem {
        about: None,
        measurands: vec![MeasurandSpec {
            name: "y".into(),
            unit: unit.into(),
        }],
        model,
        inputs,
        correlations: vec![],
        coverage: None,
        second_order: false,
        truncate_dof: false,
        rounding: None,
        monte_carlo: None,
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// GUM eq. (10): for y = Σ cᵢxᵢ, u_c² = Σ cᵢ²u²(xᵢ), and the sensitivities are the cᵢ.
    #[test]
    fn a_weighted_sum_combines_in_quadrature(
        terms in prop::collection::vec((-100.0..100.0f64, -1e3..1e3f64, 1e-6..10.0f64), 1..12)
    ) {
        let model = terms
            .iter()
            .enumerate()
            .map(|(i, (c, _, _))| format!("({c})*x{i}"))
            .collect::<Vec<_>>()
            .join(" + ");
        let inputs = terms.iter().enumerate().map(|(i, &(_, x, u))| normal(&format!("x{i}"), x, "V", u)).collect();
        let r = evaluate(&problem(format!("y = {model}"), "V", inputs)).unwrap().results.remove(0);
        let want: f64 = terms.iter().map(|(c, _, u)| (c * u).powi(2)).sum::<f64>().sqrt();
        prop_assert!(close(r.standard_uncertainty, want, 1e-12), "{} vs {want}", r.standard_uncertainty);
        for (i, (c, _, _)) in terms.iter().enumerate() {
            prop_assert!(close(r.contributions[i].sensitivity, *c, 1e-12));
        }
        let shares: f64 = r.contributions.iter().map(|c| c.percent).sum();
        prop_assert!(close(shares, 100.0, 1e-9));
        // No degrees of freedom given: ν_eff is infinite and k the normal 95.45 % factor.
        prop_assert_eq!(r.effective_dof, None);
        prop_assert!((r.coverage_factor - 2.0).abs() < 1e-3);
    }

    /// GUM §5.1.6: for y = x₁x₂…, (u_c/y)² = Σ (u(xᵢ)/xᵢ)².
    #[test]
    fn a_product_combines_relative_uncertainties(
        factors in prop::collection::vec((0.1..1e3f64, 1e-6..0.05f64), 1..8)
    ) {
        let model = (0..factors.len()).map(|i| format!("x{i}")).collect::<Vec<_>>().join(" * ");
        let inputs = factors.iter().enumerate().map(|(i, &(x, rel))| normal(&format!("x{i}"), x, "1", rel * x)).collect();
        let r = evaluate(&problem(format!("y = {model}"), "1", inputs)).unwrap().results.remove(0);
        let y: f64 = factors.iter().map(|(x, _)| x).product();
        let rel: f64 = factors.iter().map(|(_, r)| r * r).sum::<f64>().sqrt();
        prop_assert!(close(r.estimate, y, 1e-12));
        prop_assert!(close(r.standard_uncertainty / r.estimate, rel, 1e-10));
    }

    /// Writing the inputs in other units (mm instead of m, mV instead of V) and asking
    /// for the result in another unit changes the numbers by the unit factors only.
    #[test]
    fn the_units_scale_the_results(
        a in 0.1..10.0f64, b in 0.1..10.0f64, ua in 1e-5..1e-2f64, ub in 1e-5..1e-2f64,
    ) {
        let base = problem("y = a * b".into(), "W", vec![normal("a", a, "V", ua), normal("b", b, "A", ub)]);
        let scaled = problem(
            "y = a * b".into(),
            "mW",
            vec![normal("a", a * 1e3, "mV", ua * 1e3), normal("b", b * 1e3, "mA", ub * 1e3)],
        );
        let (r1, r2) = (&evaluate(&base).unwrap().results[0], &evaluate(&scaled).unwrap().results[0]);
        prop_assert!(close(r2.estimate, r1.estimate * 1e3, 1e-12));
        prop_assert!(close(r2.standard_uncertainty, r1.standard_uncertainty * 1e3, 1e-12));
        // c₁ = b: in W/V for the first, mW/mV = W/V for the second (b in mA, so ×10⁻³·10³).
        prop_assert!(close(r2.contributions[0].sensitivity, r1.contributions[0].sensitivity, 1e-12));
        prop_assert_eq!(&r1.coverage_factor, &r2.coverage_factor);
    }

    /// JCGM 101 §5.7: a linear model of normal inputs gives Monte Carlo = GUM, within
    /// the sampling spread of a standard deviation from M trials, σ/√(2M).
    #[test]
    fn a_linear_model_gives_monte_carlo_equal_to_gum_framework(
        terms in prop::collection::vec((-5.0..5.0f64, 0.01..1.0f64), 1..5), seed in 0..1000u64,
    ) {
        prop_assume!(terms.iter().any(|(c, _)| c.abs() > 0.1));
        let model = terms.iter().enumerate().map(|(i, (c, _))| format!("({c})*x{i}")).collect::<Vec<_>>().join(" + ");
        let inputs = terms.iter().enumerate().map(|(i, &(_, u))| normal(&format!("x{i}"), i as f64, "V", u)).collect();
        let mut p = problem(format!("y = {model}"), "V", inputs);
        const M: u64 = 40_000;
        p.monte_carlo = Some(MonteCarloSpec { trials: Some(M), adaptive: false, seed: Some(seed), significant_digits: None, min_blocks: None });
        let r = evaluate(&p).unwrap().results.remove(0);
        let mc = r.monte_carlo.unwrap();
        let spread = r.standard_uncertainty / (2.0 * M as f64).sqrt();
        prop_assert!((mc.standard_uncertainty - r.standard_uncertainty).abs() < 5.0 * spread);
        prop_assert!((mc.mean - r.estimate).abs() < 5.0 * r.standard_uncertainty / (M as f64).sqrt());
    }

    /// The same problem and seed give the same evaluation, histogram included.
    #[test]
    fn monte_carlo_repeats_itself(seed in any::<u64>(), u in 1e-3..1.0f64) {
        let mut p = problem("y = a + b * b / a".into(), "m", vec![normal("a", 1.0, "m", u), normal("b", 2.0, "m", u)]);
        p.monte_carlo = Some(MonteCarloSpec { trials: Some(10_000), adaptive: false, seed: Some(seed), significant_digits: None, min_blocks: None });
        prop_assert_eq!(evaluate_with(&p, 30).unwrap(), evaluate_with(&p, 30).unwrap());
    }

    /// JJF 1059.1 §7.3: U keeps at most two significant digits; rounding to nearest moves
    /// it by at most half a unit of the last digit, rounding up never lowers it; y is
    /// given to the same decimal place.
    #[test]
    fn the_report_rounds_u_to_two_significant_digits(y in -1e6..1e6f64, u_exp in -9i32..4, u_mant in 1.0..9.999f64) {
        let big_u = u_mant * 10f64.powi(u_exp);
        for rounding in [Rounding::Nearest, Rounding::Up] {
            let (y_text, u_text) = round_result(y, big_u, rounding);
            let shown: f64 = u_text.parse().unwrap();
            let significant = u_text.trim_start_matches(['0', '.']).replace('.', "");
            let significant = significant.split('e').next().unwrap().trim_end_matches('0');
            prop_assert!(significant.len() <= 2, "{u_text}");
            let unit = 10f64.powi(big_u.log10().floor() as i32 - 1);
            match rounding {
                Rounding::Nearest => prop_assert!((shown - big_u).abs() <= 0.5 * unit * (1.0 + 1e-9) + 1e-15, "{big_u} → {u_text}"),
                Rounding::Up => prop_assert!(shown >= big_u * (1.0 - 1e-9), "{big_u} → {u_text}"),
            }
            let decimals = |t: &str| t.split_once('.').map_or(0, |(_, d)| d.len());
            if !u_text.contains('e') {
                prop_assert_eq!(decimals(&y_text), decimals(&u_text), "{} / {}", y_text, u_text);
            }
        }
    }

    /// A budget survives the form: every number, typed or computed, reads back the same.
    #[test]
    fn a_problem_survives_the_form(
        values in prop::collection::vec((any::<f64>(), 0.0..1e9f64), 1..6), p in 0.5..0.999f64,
    ) {
        prop_assume!(values.iter().all(|(v, _)| v.is_finite()));
        let inputs: Vec<InputSpec> = values.iter().enumerate().map(|(i, &(v, u))| normal(&format!("x{i}"), v, "mm", u)).collect();
        let mut problem = problem("y = x0".into(), "mm", inputs);
        problem.coverage = Some(CoverageSpec { probability: Some(p), k: None });
        let back = BudgetForm::from_problem("t", &problem).to_problem().unwrap();
        prop_assert_eq!(back, problem);
    }
}
