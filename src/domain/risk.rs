//! The risks of a conformity decision (JCGM 106:2012 §8–9), for a measurand whose
//! knowledge after measurement is normal and, for the global risks, a production or
//! population process that is normal too.
//!
//! - [`specific`]: one item, from its measured value y and standard uncertainty u: the
//!   probability that it conforms, p_c = Φ((T_U − y)/u) − Φ((T_L − y)/u) (§7.2, with a
//!   flat prior), and the risk of the decision taken on it: false acceptance 1 − p_c when
//!   y lies in the acceptance interval (§9.3.2), false rejection p_c when it does not.
//! - [`global`]: the whole process, from the process distribution g₀(η) = N(μ, σ²) and
//!   the measurement's h(y | η) = N(η + b, u²): the consumer's risk
//!   R_C = ∫_{η ∉ T} g₀(η) ∫_A h(y | η) dy dη and the producer's risk
//!   R_P = ∫_{η ∈ T} g₀(η) ∫_{y ∉ A} h(y | η) dy dη (§9.5.2, eq. 21–22).
//!
//! The inner integral over y is Φ in closed form, so each risk is a one-dimensional
//! integral over η, computed by adaptive Gauss–Kronrod (7/15 points) on a partition
//! that resolves both the process's and the measurement's scale (see [`integrate`]).

/// Limits of an interval; `None` is an open side (a one-sided limit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl Limits {
    fn contains(&self, x: f64) -> bool {
        self.lower.is_none_or(|l| x >= l) && self.upper.is_none_or(|u| x <= u)
    }
}

/// Φ(x) and 1 − Φ(x) of the standard normal, from erfc (accurate to the last bits, so
/// that a tail of 10⁻¹⁵ keeps its digits).
struct StdNormal;

impl StdNormal {
    fn cdf(&self, x: f64) -> f64 {
        0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
    }
    fn sf(&self, x: f64) -> f64 {
        0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
    }
}

fn std_normal() -> StdNormal {
    StdNormal
}

/// P(a < Z < b) for a standard normal Z, taken from the tail it lies in so that a
/// probability of 10⁻¹² is not lost to 1 − (1 − 10⁻¹²).
fn between(a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let n = std_normal();
    if a >= 0.0 {
        n.sf(a) - n.sf(b)
    } else if b <= 0.0 {
        n.cdf(b) - n.cdf(a)
    } else {
        1.0 - n.cdf(a) - n.sf(b)
    }
}

/// P(a < Z < b) complemented: P(Z ≤ a or Z ≥ b).
fn outside(a: f64, b: f64) -> f64 {
    let n = std_normal();
    if b <= a {
        return 1.0;
    }
    n.cdf(a) + n.sf(b)
}

/// The probability that N(mean, sd²) lies within `l`.
pub fn probability_within(l: &Limits, mean: f64, sd: f64) -> f64 {
    let a = l.lower.map_or(f64::NEG_INFINITY, |x| (x - mean) / sd);
    let b = l.upper.map_or(f64::INFINITY, |x| (x - mean) / sd);
    between(a, b)
}

fn probability_outside(l: &Limits, mean: f64, sd: f64) -> f64 {
    let a = l.lower.map_or(f64::NEG_INFINITY, |x| (x - mean) / sd);
    let b = l.upper.map_or(f64::INFINITY, |x| (x - mean) / sd);
    outside(a, b)
}

/// The specific risk of one decision (JCGM 106:2012 §9.3).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Specific {
    /// Whether the measured value lies in the acceptance interval.
    pub accepted: bool,
    pub probability_conforming: f64,
    pub probability_nonconforming: f64,
    /// The probability of false acceptance, when accepted.
    pub pfa: Option<f64>,
    /// The probability of false rejection, when rejected.
    pub pfr: Option<f64>,
}

/// The specific risk for a measured value `y` with standard uncertainty `u` (normal),
/// tolerance `t`, acceptance interval `a`, and a known measurement bias `bias` (the
/// measurand is then N(y − b, u²)). Values nearer a limit than `quantum / 2` count as on
/// it, as in the decision itself.
pub fn specific(t: &Limits, a: &Limits, y: f64, u: f64, bias: f64, quantum: f64) -> Specific {
    let near = |x: f64, l: f64| (x - l).abs() < quantum / 2.0;
    let accepted = a.lower.is_none_or(|l| y >= l || near(y, l)) && a.upper.is_none_or(|h| y <= h || near(y, h));
    let centre = y - bias;
    let pc = probability_within(t, centre, u);
    let pn = probability_outside(t, centre, u);
    Specific {
        accepted,
        probability_conforming: pc,
        probability_nonconforming: pn,
        pfa: accepted.then_some(pn),
        pfr: (!accepted).then_some(pc),
    }
}

/// The global risks of a process (JCGM 106:2012 §9.5).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Global {
    /// p₀, the prior probability that an item conforms.
    pub in_tolerance_probability: f64,
    /// R_C: the probability that an item is non-conforming and accepted.
    pub pfa: f64,
    /// R_P: the probability that an item is conforming and rejected.
    pub pfr: f64,
    /// R_C divided by the probability of acceptance: the share of accepted items that do
    /// not conform.
    pub conditional_pfa: f64,
}

/// The global risks of a process N(`mean`, `sd`²), measured with standard uncertainty
/// `u` and bias `bias`, against tolerance `t` and acceptance interval `a`.
pub fn global(t: &Limits, a: &Limits, mean: f64, sd: f64, u: f64, bias: f64) -> Option<Global> {
    if !(sd > 0.0 && u > 0.0 && mean.is_finite() && bias.is_finite()) {
        return None;
    }
    let z = |x: f64| (x - mean) / sd;
    // The probability that an item whose true value is η is accepted.
    let accept = |eta: f64| {
        let lo = a.lower.map_or(f64::NEG_INFINITY, |l| (l - eta - bias) / u);
        let hi = a.upper.map_or(f64::INFINITY, |h| (h - eta - bias) / u);
        between(lo, hi)
    };
    let reject = |eta: f64| {
        let lo = a.lower.map_or(f64::NEG_INFINITY, |l| (l - eta - bias) / u);
        let hi = a.upper.map_or(f64::INFINITY, |h| (h - eta - bias) / u);
        outside(lo, hi)
    };
    let density = |zz: f64| (-0.5 * zz * zz).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // Points where the integrand changes fastest: the limits, the acceptance limits seen
    // through the bias, and the process mean.
    let mut centres = vec![0.0];
    centres.extend(t.lower.map(z));
    centres.extend(t.upper.map(z));
    centres.extend(a.lower.map(|l| z(l - bias)));
    centres.extend(a.upper.map(|h| z(h - bias)));
    let scale = (u / sd).min(1.0);
    let zl = t.lower.map_or(f64::NEG_INFINITY, z);
    let zu = t.upper.map_or(f64::INFINITY, z);
    let mut rc = 0.0;
    let mut rp = 0.0;
    for (lo, hi) in partition(&centres, scale) {
        let mid = 0.5 * (lo + hi);
        if mid < zl || mid > zu {
            rc += integrate(|zz| density(zz) * accept(mean + sd * zz), lo, hi);
        } else {
            rp += integrate(|zz| density(zz) * reject(mean + sd * zz), lo, hi);
        }
    }
    let p0 = probability_within(t, mean, sd);
    let accepted = p0 - rp + rc;
    Some(Global {
        in_tolerance_probability: p0,
        pfa: rc,
        pfr: rp,
        conditional_pfa: if accepted > 0.0 { rc / accepted } else { 0.0 },
    })
}

/// The process standard deviation at which N(`mean`, σ²) lies within `t` with
/// probability `p0`, for a process given by its in-tolerance probability. None when no σ
/// gives it (a mean outside the limits, or p0 beyond what a one-sided limit allows).
pub fn sd_for_in_tolerance(t: &Limits, mean: f64, p0: f64) -> Option<f64> {
    if !(0.0 < p0 && p0 < 1.0 && t.contains(mean)) {
        return None;
    }
    // p(σ) falls from 1 (σ → 0) towards its limit as σ grows: 0 for two limits, ½ for one.
    let width = match (t.lower, t.upper) {
        (Some(l), Some(h)) => h - l,
        (Some(l), None) => mean - l,
        (None, Some(h)) => h - mean,
        (None, None) => return None,
    };
    if width <= 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (width * 1e-9, width * 1e9);
    if probability_within(t, mean, hi) > p0 || probability_within(t, mean, lo) < p0 {
        return None;
    }
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if probability_within(t, mean, mid) > p0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi / lo - 1.0 < 1e-15 {
            break;
        }
    }
    Some((lo * hi).sqrt())
}

/// Beyond ±38.5 the standard normal density is below the smallest normal f64.
const Z_MAX: f64 = 38.5;

/// The segments to integrate over in z: breakpoints at each centre and at geometric steps
/// s·2ʲ either side of it, from the measurement's scale s up to the whole range, so that a
/// transition a millionth of σ wide is resolved as surely as one of several σ.
fn partition(centres: &[f64], scale: f64) -> Vec<(f64, f64)> {
    let mut points = vec![-Z_MAX, Z_MAX];
    for &c in centres {
        if !c.is_finite() {
            continue;
        }
        points.push(c.clamp(-Z_MAX, Z_MAX));
        let mut step = scale.max(1e-12);
        while step < 2.0 * Z_MAX {
            points.push((c - step).clamp(-Z_MAX, Z_MAX));
            points.push((c + step).clamp(-Z_MAX, Z_MAX));
            step *= 2.0;
        }
    }
    points.sort_by(f64::total_cmp);
    points.dedup_by(|a, b| (*a - *b).abs() <= f64::EPSILON * a.abs().max(1e-300));
    points.windows(2).map(|w| (w[0], w[1])).filter(|(a, b)| b > a).collect()
}

// The 7-point Gauss and 15-point Kronrod rule on [−1, 1] (Piessens et al., QUADPACK
// qk15): abscissae of the Kronrod rule, its weights, and the Gauss weights at its odd
// abscissae.
#[allow(clippy::excessive_precision)] // QUADPACK's digits, as published
const XGK: [f64; 8] = [
    0.991_455_371_120_812_639_206_854_697_526_329,
    0.949_107_912_342_758_524_526_189_684_047_851,
    0.864_864_423_359_769_072_789_712_788_640_926,
    0.741_531_185_599_394_439_863_864_773_280_788,
    0.586_087_235_467_691_130_294_144_845_693_013,
    0.405_845_151_377_397_166_906_606_412_076_961,
    0.207_784_955_007_898_467_600_689_403_773_245,
    0.0,
];
#[allow(clippy::excessive_precision)] // QUADPACK's digits, as published
const WGK: [f64; 8] = [
    0.022_935_322_010_529_224_963_732_008_058_970,
    0.063_092_092_629_978_553_290_700_663_189_204,
    0.104_790_010_322_250_183_839_876_322_541_518,
    0.140_653_259_715_525_918_745_189_590_510_238,
    0.169_004_726_639_267_902_826_583_426_598_550,
    0.190_350_578_064_785_409_913_256_402_421_014,
    0.204_432_940_075_298_892_414_161_999_234_649,
    0.209_482_141_084_727_828_012_999_174_891_714,
];
#[allow(clippy::excessive_precision)] // QUADPACK's digits, as published
const WG: [f64; 4] = [
    0.129_484_966_168_869_693_270_611_432_679_082,
    0.279_705_391_489_276_667_901_467_771_423_780,
    0.381_830_050_505_118_944_950_369_775_488_975,
    0.417_959_183_673_469_387_755_102_040_816_327,
];

/// ∫ₐᵇ f by adaptive bisection with the Gauss–Kronrod 7/15 pair, to a relative error of
/// 10⁻¹¹ on each piece (or 60 levels deep, or an absolute 10⁻³⁰⁰).
pub fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    fn gk(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
        let c = 0.5 * (a + b);
        let h = 0.5 * (b - a);
        let fc = f(c);
        let mut kronrod = fc * WGK[7];
        let mut gauss = fc * WG[3];
        for j in 0..7 {
            let dx = h * XGK[j];
            let s = f(c - dx) + f(c + dx);
            kronrod += WGK[j] * s;
            if j % 2 == 1 {
                gauss += WG[j / 2] * s;
            }
        }
        (kronrod * h, ((kronrod - gauss) * h).abs())
    }
    fn go(f: &impl Fn(f64) -> f64, a: f64, b: f64, depth: u32) -> f64 {
        let (value, error) = gk(f, a, b);
        if depth >= 60 || error <= 1e-11 * value.abs() || error < 1e-300 {
            return value;
        }
        let m = 0.5 * (a + b);
        go(f, a, m, depth + 1) + go(f, m, b, depth + 1)
    }
    go(&f, a, b, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn gauss_kronrod_integrates_what_it_should() {
        // ∫₀^π sin = 2; ∫₋₃³ φ = Φ(3) − Φ(−3) = 0.99730020393674 (scipy.stats.norm).
        assert!((integrate(f64::sin, 0.0, std::f64::consts::PI) - 2.0).abs() < 1e-13);
        let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        assert!(rel(integrate(phi, -3.0, 3.0), 0.997_300_203_936_740) < 1e-12);
    }

    // JCGM 106:2012 §7.2, eq. (11): with tolerance [T_L, T_U], a measured value y and
    // u, p_c = Φ((T_U − y)/u) − Φ((T_L − y)/u). Worked by hand with Φ from
    // scipy.stats.norm.cdf: T = [−10, 10], y = 8.5, u = 1 → p_c = Φ(1.5) − Φ(−18.5) =
    // 0.9331927987311419; accepted (simple acceptance), so PFA = 0.0668072012688581.
    #[test]
    fn specific_risk_of_an_accepted_and_a_rejected_item() {
        let t = Limits {
            lower: Some(-10.0),
            upper: Some(10.0),
        };
        let s = specific(&t, &t, 8.5, 1.0, 0.0, 0.0);
        assert!(s.accepted);
        assert!(rel(s.probability_conforming, 0.933_192_798_731_141_9) < 1e-12, "{s:?}");
        assert!(rel(s.pfa.unwrap(), 0.066_807_201_268_858_1) < 1e-10);
        assert_eq!(s.pfr, None);
        // Rejected at 10.5: PFR = p_c = Φ(−0.5) = 0.3085375387259869.
        let s = specific(&t, &t, 10.5, 1.0, 0.0, 0.0);
        assert!(!s.accepted);
        assert!(rel(s.pfr.unwrap(), 0.308_537_538_725_986_9) < 1e-12);
        // A far tail keeps its digits: y = 0, u = 1, limits ±8 → 1 − p_c =
        // 2·Φ(−8) = 1.244192114854348e-15 (scipy.stats.norm.cdf).
        let s = specific(
            &Limits {
                lower: Some(-8.0),
                upper: Some(8.0),
            },
            &t,
            0.0,
            1.0,
            0.0,
            0.0,
        );
        assert!(
            rel(s.probability_nonconforming, 1.244_192_114_854_348e-15) < 1e-9,
            "{s:?}"
        );
    }

    // Global risks, checked against SciPy's dblquad over the joint density (epsabs 1e-14,
    // epsrel 1e-12), for the configuration of JCGM 106:2012 §9.5.2 Figure 16: a process
    // centred in a symmetric tolerance with p₀ and the measurement capability index
    // C_m = (T_U − T_L)/(4u). Tolerance [−1, 1], σ = 0.5 (p₀ = 0.954499736103642),
    // u = 0.125 (C_m = 4), acceptance = tolerance:
    //   R_C = 0.00800608483445009, R_P = 0.0148508842112549 (scipy.integrate.dblquad,
    //   and the same to 15 digits by quad over η with the inner integral as Φ).
    // With a guard band (acceptance ±0.75), a process mean of 0.1 and a measurement bias
    // of 0.02: R_C = 0.00018864541781642, R_P = 0.106837955621187.
    #[test]
    fn global_risks_agree_with_a_double_integral() {
        let t = Limits {
            lower: Some(-1.0),
            upper: Some(1.0),
        };
        let g = global(&t, &t, 0.0, 0.5, 0.125, 0.0).unwrap();
        assert!(rel(g.in_tolerance_probability, 0.954_499_736_103_642) < 1e-12, "{g:?}");
        assert!(rel(g.pfa, REF_RC) < 1e-6, "{g:?}");
        assert!(rel(g.pfr, REF_RP) < 1e-6, "{g:?}");
        let accepted = g.in_tolerance_probability - g.pfr + g.pfa;
        assert!(rel(g.conditional_pfa, g.pfa / accepted) < 1e-15);
        let a = Limits {
            lower: Some(-0.75),
            upper: Some(0.75),
        };
        let g = global(&t, &a, 0.1, 0.5, 0.125, 0.02).unwrap();
        assert!(rel(g.pfa, 0.000_188_645_417_816_42) < 1e-6, "{g:?}");
        assert!(rel(g.pfr, 0.106_837_955_621_187) < 1e-6, "{g:?}");
    }
    const REF_RC: f64 = 0.008_006_084_834_450_09;
    const REF_RP: f64 = 0.014_850_884_211_254_9;

    #[test]
    fn a_precise_measurement_carries_almost_no_risk_and_still_has_digits() {
        // u = 10⁻⁶ σ. To first order in u each limit T adds g₀(T)·u·∫₀^∞ Φ(−s) ds =
        // g₀(T)·u/√(2π) to R_C, and as much to R_P (JCGM 106:2012 §9.5.2 as u → 0):
        // an independent check that the partition resolves a transition 10⁻⁶ σ wide.
        let t = Limits {
            lower: Some(-1.0),
            upper: Some(1.0),
        };
        let u = 0.5e-6;
        let g = global(&t, &t, 0.0, 0.5, u, 0.0).unwrap();
        // Each limit contributes g₀(T)·u/√(2π) to R_C to first order in u.
        let g0 = (-0.5f64 * 4.0).exp() / (2.0 * std::f64::consts::PI).sqrt() / 0.5;
        let want = 2.0 * g0 * u / (2.0 * std::f64::consts::PI).sqrt();
        assert!(rel(g.pfa, want) < 1e-5, "{} vs {want}", g.pfa);
        assert!(rel(g.pfr, want) < 1e-5, "{} vs {want}", g.pfr);
    }

    #[test]
    fn the_process_spread_from_its_in_tolerance_probability() {
        // Symmetric: p₀ = 0.954499736103642 within ±1 about 0 means σ = 0.5 (±2σ).
        let t = Limits {
            lower: Some(-1.0),
            upper: Some(1.0),
        };
        let s = sd_for_in_tolerance(&t, 0.0, 0.954_499_736_103_642).unwrap();
        assert!(rel(s, 0.5) < 1e-12, "{s}");
        // One-sided ≤ 1 from a mean of 0: p₀ = Φ(1/σ) = 0.8413447460685429 → σ = 1.
        let t = Limits {
            lower: None,
            upper: Some(1.0),
        };
        assert!(rel(sd_for_in_tolerance(&t, 0.0, 0.841_344_746_068_542_9).unwrap(), 1.0) < 1e-12);
        // Unreachable: below ½ for one limit, or a mean outside the tolerance.
        assert_eq!(sd_for_in_tolerance(&t, 0.0, 0.4), None);
        assert_eq!(sd_for_in_tolerance(&t, 2.0, 0.9), None);
    }
}
