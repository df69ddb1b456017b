//! Measurement uncertainty: the GUM framework (JJF 1059.1 / JCGM 100) and Monte Carlo
//! (JJF 1059.2 / JCGM 101) for measurement models written as text, with typed units.
//!
//! Pure: no database, no web, no clock. [`evaluate`] takes a [`Problem`] (the JSON of
//! `metrocal uncertainty evaluate` and `POST /api/v1/uncertainty/evaluate`) and gives
//! the results or the first error with the field it concerns.

pub mod form;
pub mod gum;
pub mod jet;
pub mod model;
pub mod monte_carlo;
pub mod problem;
pub mod units;

use crate::domain::Error;
use gum::Rounding;
use model::Model;
pub use problem::Problem;
use problem::{check_input, Distribution, Input};
use serde::{Deserialize, Serialize};
use units::parse_unit;

/// One input's part in a measurand's uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub name: String,
    /// c_i, in the measurand's unit per the input's unit.
    pub sensitivity: f64,
    /// |c_i|·u(x_i), in the measurand's unit.
    pub contribution: f64,
    pub dof: Option<f64>,
    /// The share of Σ (c_i u_i)², in percent (independent inputs assumed).
    pub percent: f64,
}

/// Monte Carlo results for a measurand, in its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonteCarloResult {
    pub mean: f64,
    pub standard_uncertainty: f64,
    pub interval: [f64; 2],
    pub shortest_interval: [f64; 2],
    pub trials: u64,
    pub gum_validated: bool,
    pub delta: f64,
    /// For an adaptive run (JCGM 101 §7.9): whether it reached the numerical tolerance
    /// before the most trials the limits allow (false: not converged, stopped there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    /// The distribution of the trials, for drawing; only when asked for (not in the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

/// Trials counted into equal bins from `low` to `high`, in the measurand's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub low: f64,
    pub high: f64,
    pub counts: Vec<u64>,
    /// Trials below `low` and above `high` (the far tails, not drawn).
    pub below: u64,
    pub above: u64,
}

/// The result for one measurand. Numbers are unrounded, in the measurand's unit; only
/// `report` is rounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurandResult {
    pub name: String,
    pub unit: String,
    pub estimate: f64,
    pub standard_uncertainty: f64,
    pub effective_dof: Option<f64>,
    pub coverage_factor: f64,
    pub expanded_uncertainty: f64,
    pub coverage_probability: f64,
    pub report: String,
    pub contributions: Vec<Contribution>,
    pub monte_carlo: Option<MonteCarloResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub results: Vec<MeasurandResult>,
    /// The correlation matrix of the measurands, in the order they were listed.
    pub correlation: Vec<Vec<f64>>,
}

/// Fewest Monte Carlo trials accepted: JCGM 101 §7.2.1 asks for M ≥ 10⁴ at p = 0.95
/// (M much larger than 1/(1 − p)).
pub const MIN_TRIALS: u64 = 10_000;
/// Most trials in one evaluation (memory: 8 bytes per trial per measurand).
pub const MAX_TRIALS: u64 = 50_000_000;

/// What one evaluation may cost, checked before anything is allocated for it. The
/// defaults keep a server of two cores answering while the costliest evaluation they
/// allow runs (docs/security.md lists them, and what a user sees at each).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Characters of the model text.
    pub max_model_chars: usize,
    /// Operations of the parsed model (each +, −, ×, ÷, power, sign, function, name and
    /// number is one).
    pub max_operations: usize,
    pub max_inputs: usize,
    pub max_measurands: usize,
    /// Monte Carlo trials, fixed or (adaptive) in all.
    pub max_trials: u64,
    /// Trials × (operations + inputs): the work of a Monte Carlo run, and the second-order
    /// terms' (measurands × inputs² × operations × 10).
    pub max_work: u64,
    /// Memory the evaluation's arrays may take, in bytes.
    pub max_memory_bytes: u64,
    /// Threads that draw the trials; 0 means every core.
    pub threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_model_chars: 16_384,
            max_operations: 2_000,
            max_inputs: 500,
            max_measurands: 20,
            max_trials: MAX_TRIALS,
            max_work: 2_000_000_000,
            max_memory_bytes: 512 << 20,
            threads: 0,
        }
    }
}

impl Limits {
    /// No limit but what the machine has (the command line's `--no-limits`).
    pub fn none() -> Limits {
        Limits {
            max_model_chars: usize::MAX,
            max_operations: usize::MAX,
            max_inputs: usize::MAX,
            max_measurands: usize::MAX,
            max_trials: u64::MAX,
            max_work: u64::MAX,
            max_memory_bytes: u64::MAX,
            threads: 0,
        }
    }

    fn threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// A request to stop an evaluation, set by whoever waits for it (the service, at its
/// deadline). The engine looks at it between blocks of trials and gives up with
/// `uncertainty.stopped`.
pub type Stop = std::sync::atomic::AtomicBool;

/// Evaluates a problem: the GUM framework for every measurand, and Monte Carlo when
/// asked. The first error names the field it concerns.
pub fn evaluate(p: &Problem) -> Result<Evaluation, Error> {
    evaluate_with(p, 0)
}

/// [`evaluate`], and with `histogram_bins` > 0 each Monte Carlo result also counts its
/// trials into that many bins (the budget page draws them).
pub fn evaluate_with(p: &Problem, histogram_bins: usize) -> Result<Evaluation, Error> {
    evaluate_limited(p, histogram_bins, &Limits::default(), &Stop::new(false))
}

/// [`evaluate_with`] within `limits`, stopping when `stop` is set.
pub fn evaluate_limited(p: &Problem, histogram_bins: usize, limits: &Limits, stop: &Stop) -> Result<Evaluation, Error> {
    let field = |f: &str, code: &'static str, m: String| Error::new(f, code, m);
    if p.measurands.is_empty() {
        return Err(field(
            "measurands",
            "uncertainty.no_measurand",
            "name at least one measurand".into(),
        ));
    }
    if p.measurands.len() > limits.max_measurands {
        return Err(field(
            "measurands",
            "uncertainty.too_many_measurands",
            format!(
                "{} measurands; one evaluation takes at most {}",
                p.measurands.len(),
                limits.max_measurands
            ),
        ));
    }
    if p.inputs.len() > limits.max_inputs {
        return Err(field(
            "inputs",
            "uncertainty.too_many_inputs",
            format!(
                "{} inputs; one evaluation takes at most {}",
                p.inputs.len(),
                limits.max_inputs
            ),
        ));
    }
    let model_chars = p.model.chars().count();
    if model_chars > limits.max_model_chars {
        return Err(field(
            "model",
            "uncertainty.model_too_long",
            format!(
                "the model has {model_chars} characters; at most {} are accepted",
                limits.max_model_chars
            ),
        ));
    }
    let mut inputs: Vec<Input> = Vec::with_capacity(p.inputs.len());
    for (i, spec) in p.inputs.iter().enumerate() {
        inputs.push(check_input(i, spec)?);
    }
    let names: Vec<&str> = inputs.iter().map(|x| x.name).collect();
    let mut positions: rustc_hash::FxHashMap<&str, usize> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(names.len(), Default::default());
    for (i, name) in names.iter().enumerate() {
        if positions.insert(name, i).is_some() {
            return Err(field(
                &format!("inputs[{i}].name"),
                "uncertainty.name_taken",
                format!("two inputs are named '{name}'"),
            ));
        }
    }
    let model =
        Model::parse(&p.model, &names).map_err(|e| field("model", "uncertainty.model_invalid", e.to_string()))?;
    if model.ops.len() > limits.max_operations {
        return Err(field(
            "model",
            "uncertainty.model_too_large",
            format!(
                "the model has {} operations; at most {} are accepted",
                model.ops.len(),
                limits.max_operations
            ),
        ));
    }
    // The model's inputs, in the model's order, as indices into `inputs`.
    let used: Vec<usize> = model.inputs.iter().map(|n| positions[n.as_str()]).collect();
    let mut is_used = vec![false; inputs.len()];
    for &i in &used {
        is_used[i] = true;
    }
    let dims: Vec<units::Dim> = used.iter().map(|&i| inputs[i].unit.dim).collect();
    let op_dims = model
        .dimensions(&dims)
        .map_err(|e| field("model", "uncertainty.dimension", e.to_string()))?;

    let mut outputs = Vec::new();
    let mut out_units = Vec::new();
    for (j, m) in p.measurands.iter().enumerate() {
        let op = model.output(m.name.trim()).ok_or_else(|| {
            field(
                &format!("measurands[{j}].name"),
                "uncertainty.measurand_undefined",
                format!("the model has no line defining '{}'", m.name.trim()),
            )
        })?;
        let unit = parse_unit(&m.unit).map_err(|e| {
            field(
                &format!("measurands[{j}].unit"),
                "uncertainty.unit_invalid",
                e.to_string(),
            )
        })?;
        if !unit.dim.same(op_dims[op]) {
            return Err(field(
                &format!("measurands[{j}].unit"),
                "uncertainty.dimension",
                format!(
                    "'{}' is a unit of {}, but the model gives {} in {}",
                    m.unit, unit.dim, m.name, op_dims[op]
                ),
            ));
        }
        outputs.push(op);
        out_units.push(unit);
    }

    // Correlations between inputs: the pairs with r ≠ 0 (most inputs have none).
    let n = inputs.len();
    let mut pairs: std::collections::BTreeMap<(usize, usize), f64> = std::collections::BTreeMap::new();
    for (c, spec) in p.correlations.iter().enumerate() {
        let at = |f: &str| format!("correlations[{c}].{f}");
        let find = |name: &str, f: &str| {
            positions.get(name.trim()).copied().ok_or_else(|| {
                field(
                    &at(f),
                    "uncertainty.correlation_unknown",
                    format!("no input is named '{name}'"),
                )
            })
        };
        let (a, b) = (find(&spec.a, "a")?, find(&spec.b, "b")?);
        if a == b {
            return Err(field(
                &at("b"),
                "uncertainty.correlation_self",
                "an input is not correlated with itself".into(),
            ));
        }
        if spec.r.is_nan() || spec.r.abs() > 1.0 {
            return Err(field(
                &at("r"),
                "uncertainty.correlation_range",
                "r is a number from −1 to 1".into(),
            ));
        }
        if spec.r == 0.0 {
            pairs.remove(&(a.min(b), a.max(b)));
        } else {
            pairs.insert((a.min(b), a.max(b)), spec.r);
        }
    }
    let correlation_of = |i: usize, j: usize| -> f64 {
        if i == j {
            1.0
        } else {
            pairs.get(&(i.min(j), i.max(j))).copied().unwrap_or(0.0)
        }
    };
    let mut correlated_inputs: Vec<usize> = pairs.keys().flat_map(|&(a, b)| [a, b]).collect();
    correlated_inputs.sort_unstable();
    correlated_inputs.dedup();
    cholesky_psd(&correlation_of, &correlated_inputs).ok_or_else(|| {
        field(
            "correlations",
            "uncertainty.correlation_not_psd",
            "the correlation coefficients are inconsistent: their matrix is not positive semi-definite".into(),
        )
    })?;

    // The estimate and the sensitivities, in SI units.
    let x: Vec<f64> = used.iter().map(|&i| inputs[i].x).collect();
    let values = model
        .values(&x)
        .map_err(|e| field("model", "uncertainty.model_undefined", e.to_string()))?;
    let coverage = p.coverage.clone().unwrap_or(problem::CoverageSpec {
        probability: Some(0.9545),
        k: None,
    });
    let (fixed_k, probability) = match (coverage.k, coverage.probability) {
        (Some(k), None) if k.is_finite() && k > 0.0 => (Some(k), gum::normal_probability(k)),
        (None, Some(pr)) if pr > 0.0 && pr < 1.0 => (None, pr),
        (None, None) => (None, 0.9545),
        _ => {
            return Err(field(
                "coverage",
                "uncertainty.coverage_invalid",
                "coverage is {\"probability\": p} with 0 < p < 1, or {\"k\": k} with k > 0".into(),
            ))
        }
    };
    let rounding = match p.rounding.as_deref() {
        None | Some("nearest") => Rounding::Nearest,
        Some("up") => Rounding::Up,
        Some(other) => {
            return Err(field(
                "rounding",
                "uncertainty.rounding_invalid",
                format!("'{other}': rounding is \"nearest\" or \"up\""),
            ))
        }
    };
    if p.second_order && !correlated_inputs.is_empty() {
        return Err(field(
            "second_order",
            "uncertainty.second_order_correlated",
            "the second-order terms of GUM §5.1.2 assume independent inputs; remove the correlations or the option"
                .into(),
        ));
    }

    if p.second_order {
        // One jet evaluation of the model per pair of inputs, per measurand.
        let pairs = (used.len() as u64).saturating_pow(2);
        let work = (outputs.len() as u64)
            .saturating_mul(pairs)
            .saturating_mul(model.ops.len() as u64)
            .saturating_mul(10);
        if work > limits.max_work {
            return Err(field(
                "second_order",
                "uncertainty.too_much_work",
                format!(
                    "the second-order terms of {} inputs over a model of {} operations are more work than one evaluation may do; use fewer inputs or a smaller model",
                    used.len(),
                    model.ops.len()
                ),
            ));
        }
    }
    // Gradients of every measurand with respect to every input (zero for unused ones).
    let grads: Vec<Vec<f64>> = outputs
        .iter()
        .map(|&op| {
            let g = model.gradient(&values, op);
            let mut full = vec![0.0; n];
            for (k, &i) in used.iter().enumerate() {
                full[i] = g[k];
            }
            full
        })
        .collect();
    let u: Vec<f64> = inputs.iter().map(|x| x.u).collect();
    // cov(y_a, y_b) = Σᵢ aᵢbᵢu²(xᵢ) + Σ_{i<j} r_ij u(xᵢ)u(xⱼ)(aᵢbⱼ + aⱼbᵢ) (JCGM 100 eq. 13, F.2).
    let cov = |a: &[f64], b: &[f64]| -> f64 {
        let diagonal: f64 = (0..n).map(|i| a[i] * b[i] * u[i] * u[i]).sum();
        let off: f64 = pairs
            .iter()
            .map(|(&(i, j), &rij)| rij * u[i] * u[j] * (a[i] * b[j] + a[j] * b[i]))
            .sum();
        diagonal + off
    };
    let any_correlation = !correlated_inputs.is_empty();
    let m = outputs.len();
    let mut covariance = vec![0.0; m * m];
    for a in 0..m {
        for b in a..m {
            let c = cov(&grads[a], &grads[b]);
            covariance[a * m + b] = c;
            covariance[b * m + a] = c;
        }
    }
    if p.second_order {
        // JCGM 100 §5.1.2 note: the second-order terms, added to each variance.
        let u_used: Vec<f64> = used.iter().map(|&i| u[i]).collect();
        for (j, &op) in outputs.iter().enumerate() {
            let g_used: Vec<f64> = used.iter().map(|&i| grads[j][i]).collect();
            covariance[j * m + j] += jet::second_order_terms(&model, &x, &u_used, &g_used, op);
        }
    }
    let uc: Vec<f64> = (0..m).map(|j| covariance[j * m + j].max(0.0).sqrt()).collect();
    let correlation: Vec<Vec<f64>> = (0..m)
        .map(|a| {
            (0..m)
                .map(|b| {
                    if a == b {
                        1.0
                    } else if uc[a] > 0.0 && uc[b] > 0.0 {
                        covariance[a * m + b] / (uc[a] * uc[b])
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();

    // Monte Carlo, when asked.
    let mut converged: Option<bool> = None;
    let mut mc = match &p.monte_carlo {
        None => None,
        Some(spec) => {
            if spec.adaptive && spec.trials.is_some() {
                return Err(field(
                    "monte_carlo.trials",
                    "uncertainty.trials_with_adaptive",
                    "give either trials or adaptive, not both".into(),
                ));
            }
            // Adaptive: blocks of M = max(100/(1 − p), 10⁴) trials (JCGM 101 §7.9.4 b).
            let block = ((100.0 / (1.0 - probability)).ceil() as u64).max(MIN_TRIALS);
            let trials = if spec.adaptive {
                block
            } else {
                spec.trials.unwrap_or(1_000_000)
            };
            if trials < MIN_TRIALS {
                return Err(field(
                    "monte_carlo.trials",
                    "uncertainty.too_few_trials",
                    format!("at least {MIN_TRIALS} trials (JCGM 101 §7.2.1)"),
                ));
            }
            let max_trials = limits.max_trials.min(MAX_TRIALS);
            if trials > max_trials {
                return Err(field(
                    "monte_carlo.trials",
                    "uncertainty.too_many_trials",
                    format!("at most {max_trials} trials"),
                ));
            }
            let digits = spec.significant_digits.unwrap_or(2);
            if !(1..=6).contains(&digits) {
                return Err(field(
                    "monte_carlo.significant_digits",
                    "uncertainty.digits_invalid",
                    "significant_digits is from 1 to 6".into(),
                ));
            }
            // JCGM 101 §6.4.9: a quantity stated with its (expanded) uncertainty and
            // degrees of freedom, as a certificate states ν_eff, is drawn from the scaled
            // and shifted t distribution t_ν(x, u²), not a normal (issue 21, defect 3).
            // Correlated inputs stay jointly normal (§6.4.8).
            let dists: Vec<Distribution> = used
                .iter()
                .map(|&i| match (inputs[i].distribution, inputs[i].dof) {
                    (Distribution::Normal { mu, sigma }, Some(nu))
                        if nu.is_finite() && !correlated_inputs.contains(&i) =>
                    {
                        Distribution::StudentT {
                            mu,
                            scale: sigma,
                            dof: nu,
                        }
                    }
                    (d, _) => d,
                })
                .collect();
            // The jointly drawn normals, as model-input indices.
            let members: Vec<usize> = correlated_inputs
                .iter()
                .filter_map(|i| used.iter().position(|u| u == i))
                .collect();
            for &k in &members {
                if !matches!(dists[k], Distribution::Normal { .. }) {
                    return Err(field(
                        "correlations",
                        "uncertainty.correlation_distribution",
                        format!(
                            "Monte Carlo draws correlated inputs from a joint normal distribution; '{}' is not normal",
                            model.inputs[k]
                        ),
                    ));
                }
            }
            let sub = correlated_inputs
                .iter()
                .filter(|&&i| is_used[i])
                .copied()
                .collect::<Vec<_>>();
            let lower_used = cholesky_psd(&correlation_of, &sub).expect("checked above");
            let correlated = monte_carlo::Correlated {
                members,
                lower: lower_used,
            };
            // What the run costs, checked before anything is allocated for it.
            let threads = limits.threads();
            let cost = RunCost {
                operations: model.ops.len() as u64,
                inputs: used.len() as u64,
                measurands: m as u64,
                joint: correlated.members.len() as u64,
                threads: threads as u64,
            };
            let affordable = cost.affordable_trials(limits, spec.adaptive).min(max_trials);
            let too_costly = |wanted: u64| {
                field(
                    "monte_carlo.trials",
                    "uncertainty.too_much_work",
                    format!(
                        "{wanted} trials of a model of {} operations, {} inputs and {m} measurands is more than one evaluation may do \
                         (at most {} units of work and {} MiB); use at most {affordable} trials, fewer measurands or a smaller model",
                        cost.operations,
                        cost.inputs,
                        limits.max_work,
                        limits.max_memory_bytes >> 20
                    ),
                )
            };
            let seed = spec.seed.unwrap_or(1);
            let run = |h: u64| {
                // Each block of the adaptive procedure has its own seed, derived from the given one.
                let seed_h = seed ^ h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                monte_carlo::simulate(
                    &model,
                    &outputs,
                    &dists,
                    &correlated,
                    trials as usize,
                    seed_h,
                    threads,
                    stop,
                )
            };
            let stopped = || {
                field(
                    "monte_carlo",
                    "uncertainty.stopped",
                    "the evaluation was stopped before it finished (it took longer than it may); use fewer trials"
                        .into(),
                )
            };
            if !spec.adaptive {
                if trials > affordable {
                    return Err(too_costly(trials));
                }
                Some((run(0).ok_or_else(stopped)?, trials, digits))
            } else {
                let min_blocks = spec.min_blocks.unwrap_or(2).max(2);
                // Adaptive trials add up: as many blocks as the limits afford.
                let max_blocks = affordable / trials;
                if max_blocks < min_blocks {
                    return Err(too_costly(trials * min_blocks));
                }
                let to_units: Vec<(f64, f64)> = out_units.iter().map(|u| (u.factor, u.offset)).collect();
                let (runs, h, stable) =
                    monte_carlo::adaptive(run, m, probability, digits, min_blocks, max_blocks, &to_units)
                        .ok_or_else(stopped)?;
                converged = Some(stable);
                Some((runs, trials * h, digits))
            }
        }
    };

    let mut results = Vec::with_capacity(m);
    for (j, spec) in p.measurands.iter().enumerate() {
        let unit = out_units[j];
        let g = &grads[j];
        let contributions_si: Vec<f64> = (0..n).map(|i| g[i].abs() * u[i]).collect();
        let sum_sq: f64 = contributions_si.iter().map(|c| c * c).sum();
        let dof = if any_correlation {
            // Only the pairs of inputs that both reach this measurand count; each group
            // of inputs correlated with each other is one term of Welch–Satterthwaite,
            // its variance with the covariances, its ν the smallest of its members
            // (docs/uncertainty.md, "Degrees of freedom with correlated inputs").
            let signed: Vec<f64> = (0..n).map(|i| g[i] * u[i]).collect();
            let pairs_here: Vec<(usize, usize, f64)> = pairs
                .iter()
                .filter(|(&(a, b), _)| g[a] != 0.0 && g[b] != 0.0)
                .map(|(&(a, b), &r)| (a, b, r))
                .collect();
            let dofs: Vec<Option<f64>> = inputs.iter().map(|x| x.dof).collect();
            gum::welch_satterthwaite(uc[j], &gum::correlated_terms(&signed, &dofs, &pairs_here))
        } else {
            let terms: Vec<(f64, Option<f64>)> = (0..n).map(|i| (contributions_si[i], inputs[i].dof)).collect();
            gum::welch_satterthwaite(uc[j], &terms)
        };
        let dof_for_k = if p.truncate_dof { dof.map(f64::floor) } else { dof };
        let overflow = (0..n).find(|&i| !(contributions_si[i] * contributions_si[i] * 4.0).is_finite());
        if let Some(i) = overflow {
            // Finite inputs can still overflow: u = 1e308 squares to infinity.
            return Err(field(
                &format!("inputs[{i}].uncertainty{}", uncertainty_part(&p.inputs[i].uncertainty)),
                "uncertainty.overflow",
                format!(
                    "the uncertainty of {} is too large to compute with (its square overflows)",
                    inputs[i].name
                ),
            ));
        }
        if dof_for_k.is_some_and(|nu| nu.is_nan() || nu < 1.0) {
            return Err(field(
                "inputs",
                "uncertainty.dof_below_one",
                format!(
                    "the effective degrees of freedom of {} are below 1; give the inputs' degrees of freedom (at least 1)",
                    spec.name.trim()
                ),
            ));
        }
        let k = fixed_k.unwrap_or_else(|| gum::coverage_factor(probability, dof_for_k));
        let y = unit.from_si(values[outputs[j]]);
        let u_y = unit.diff_from_si(uc[j]);
        let big_u = k * u_y;
        if !(k.is_finite() && u_y.is_finite() && big_u.is_finite() && y.is_finite()) {
            // Finite inputs can still overflow: u = 1e308 squares to infinity.
            let culprit = (0..n).find(|&i| !(contributions_si[i] * contributions_si[i] * 4.0).is_finite());
            return Err(match culprit {
                Some(i) => field(
                    &format!("inputs[{i}].uncertainty{}", uncertainty_part(&p.inputs[i].uncertainty)),
                    "uncertainty.overflow",
                    format!(
                        "the uncertainty of {} is too large to compute with (its square overflows)",
                        inputs[i].name
                    ),
                ),
                None if !k.is_finite() => field(
                    "coverage",
                    "uncertainty.coverage_invalid",
                    "the coverage probability is so close to 1 that no finite coverage factor gives it".into(),
                ),
                None => field(
                    &format!("measurands[{j}].name"),
                    "uncertainty.overflow",
                    format!("{} or its uncertainty is too large to compute with", spec.name.trim()),
                ),
            });
        }
        let (y_text, u_text) = gum::round_result(y, big_u, rounding);
        let unit_text = spec.unit.trim();
        let sep = if unit_text.is_empty() { "" } else { " " };
        let report = format!(
            "{} = {y_text}{sep}{unit_text}, U = {u_text}{sep}{unit_text} (k = {}, p = {})",
            spec.name.trim(),
            gum::format_k(k),
            gum::format_percent(probability)
        );
        let contributions = (0..n)
            .filter(|&i| is_used[i])
            .map(|i| Contribution {
                name: inputs[i].name.to_owned(),
                sensitivity: g[i] * inputs[i].unit.factor / unit.factor,
                contribution: unit.diff_from_si(contributions_si[i]),
                dof: inputs[i].dof,
                percent: if sum_sq > 0.0 {
                    100.0 * contributions_si[i].powi(2) / sum_sq
                } else {
                    0.0
                },
            })
            .collect();
        let monte_carlo = match mc.as_mut() {
            None => None,
            Some((runs, trials, digits)) => {
                let mut values = std::mem::take(&mut runs[j]);
                // Trials outside the model's domain (the root of a negative number) or
                // overflowing are counted and reported, never dropped.
                let not_finite = values.iter().filter(|v| !v.is_finite()).count();
                if not_finite > 0 {
                    return Err(field(
                        "monte_carlo",
                        "uncertainty.trials_not_finite",
                        format!(
                            "{not_finite} of {} trials of {} are not finite numbers (an overflow, or a function outside its domain, such as the root of a negative number)",
                            values.len(),
                            spec.name.trim()
                        ),
                    ));
                }
                let s = monte_carlo::summarise(&mut values, probability);
                let histogram = (histogram_bins > 0)
                    .then(|| monte_carlo::histogram(&values, &s, histogram_bins))
                    .flatten()
                    .map(|(low, high, counts, below, above)| Histogram {
                        // A difference-preserving map: bins stay equal in the measurand's unit.
                        low: unit.from_si(low),
                        high: unit.from_si(high),
                        counts,
                        below,
                        above,
                    });
                if !(s.mean.is_finite() && s.standard_uncertainty.is_finite()) {
                    return Err(field(
                        "monte_carlo",
                        "uncertainty.trials_not_finite",
                        format!(
                            "some trials of {} are not finite numbers (an overflow, or a function outside its domain)",
                            spec.name.trim()
                        ),
                    ));
                }
                let delta = monte_carlo::tolerance(u_y, *digits);
                let to = |v: f64| unit.from_si(v);
                let interval = (to(s.interval.0), to(s.interval.1));
                Some(MonteCarloResult {
                    mean: to(s.mean),
                    standard_uncertainty: unit.diff_from_si(s.standard_uncertainty),
                    interval: [interval.0, interval.1],
                    shortest_interval: [to(s.shortest_interval.0), to(s.shortest_interval.1)],
                    trials: *trials,
                    gum_validated: monte_carlo::gum_validated(y, big_u, interval, delta),
                    delta,
                    converged,
                    histogram,
                })
            }
        };
        results.push(MeasurandResult {
            name: spec.name.trim().to_owned(),
            unit: unit_text.to_owned(),
            estimate: y,
            standard_uncertainty: u_y,
            effective_dof: dof,
            coverage_factor: k,
            expanded_uncertainty: big_u,
            coverage_probability: probability,
            report,
            contributions,
            monte_carlo,
        });
    }
    Ok(Evaluation { results, correlation })
}

/// Which part of an input's uncertainty was given (`.u`, `.expanded`, …), so that an
/// error about its size names the field that was typed.
fn uncertainty_part(u: &problem::UncertaintySpec) -> &'static str {
    if u.u.is_some() {
        ".u"
    } else if u.expanded.is_some() {
        ".expanded"
    } else if u.half_width.is_some() {
        ".half_width"
    } else if u.readings.is_some() {
        ".readings"
    } else {
        ""
    }
}

/// The size of a Monte Carlo run, for what it costs.
struct RunCost {
    operations: u64,
    inputs: u64,
    measurands: u64,
    /// Inputs drawn jointly (correlated normals).
    joint: u64,
    threads: u64,
}

impl RunCost {
    /// The most trials `limits` afford: trials × (operations + inputs) within the work,
    /// and each trial's outputs (8 bytes a measurand, twice for the adaptive procedure,
    /// which sorts a copy of each block) beside every thread's tape of a block of trials
    /// within the memory.
    fn affordable_trials(&self, limits: &Limits, adaptive: bool) -> u64 {
        let per_trial_work = (self.operations + self.inputs).max(1);
        let by_work = limits.max_work / per_trial_work;
        let block = monte_carlo::BLOCK as u64;
        let tape = self
            .threads
            .saturating_mul(self.operations + 2 * self.joint)
            .saturating_mul(block)
            .saturating_mul(8);
        let per_trial_bytes = self.measurands.max(1).saturating_mul(if adaptive { 16 } else { 8 });
        let by_memory = limits.max_memory_bytes.saturating_sub(tape) / per_trial_bytes;
        by_work.min(by_memory)
    }
}

/// The Cholesky factor of the correlation matrix restricted to `members`, allowing
/// a positive semi-definite matrix (zero pivots); None when it is not PSD.
fn cholesky_psd(r: &dyn Fn(usize, usize) -> f64, members: &[usize]) -> Option<Vec<f64>> {
    let m = members.len();
    let a = |i: usize, j: usize| r(members[i], members[j]);
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * m + k] * l[j * m + k]).sum();
            if i == j {
                let d = a(i, i) - s;
                if d < -1e-10 {
                    return None;
                }
                l[i * m + i] = d.max(0.0).sqrt();
            } else if l[j * m + j] > 1e-12 {
                l[i * m + j] = (a(i, j) - s) / l[j * m + j];
            } else if (a(i, j) - s).abs() > 1e-9 {
                return None;
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod examples;
#[cfg(test)]
mod properties;
